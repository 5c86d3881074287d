# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline stand-in for the get-pip bootstrap script that ansible-test downloads.

ansible-test fetches get-pip.py from ci-files.testing.ansible.com to put pip into the virtual
environments of its sanity tests; that host is not reachable here (only PyPI is). ansible-test
uses a cached copy when one exists (~/.ansible/test/cache/get_pip_<version>.py), so `make sanity`
places this file there: it bootstraps pip with the interpreter's own ensurepip and then lets pip
install exactly the packages ansible-test asked for, from the package index.
"""

import ensurepip
import os
import subprocess
import sys

# ensurepip points PIP_CONFIG_FILE at /dev/null and leaves it so; the pip.conf that names the
# machine's package index and certificate bundle must apply to the install that follows.
saved_config = os.environ.get("PIP_CONFIG_FILE")
ensurepip.bootstrap(upgrade=True)
if saved_config is None:
    os.environ.pop("PIP_CONFIG_FILE", None)
else:
    os.environ["PIP_CONFIG_FILE"] = saved_config
arguments = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--upgrade", *arguments])

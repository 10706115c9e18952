"""python3 -m inventory_service — started by Gameday (local: `command:`, containers: the image's CMD)."""

import os

from .service import Service

Service(os.environ).run()

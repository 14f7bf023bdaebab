"""The browser tests' fixtures (``served``, ``browser``, ``visit``, ``phone``) from
``tests/integration/web/browser.py``, where the tests import its helpers from too."""

from tests.integration.web.browser import browser, phone, served, visit

__all__ = ["browser", "phone", "served", "visit"]

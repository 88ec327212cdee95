"""kb: a content-as-code knowledge base with Chinese search.

The core (model, checks, text, index, search, reports) never imports MkDocs, click or the web framework.
"""

__version__ = "0.1.0"

"""broadcaster: one place to announce a notice on every channel, each message exactly once.

The data flow, one module per stage::

    config -> sources -> notices -> schedule -> render -> ledger -> channels
                                                     \\-> dispatch (one pass) <- cli / worker
"""

__version__ = "0.1.0"

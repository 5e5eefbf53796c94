"""Views of the loans app, one module per area: the public simulator, the applications and
the contract."""

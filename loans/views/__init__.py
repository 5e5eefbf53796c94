"""Views of the loans app, one module per area: the public simulator and the applications."""

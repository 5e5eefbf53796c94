"""`{% load money %}{{ amount|pesos }}` gives "$9,500.00" (see isseg_portal.formatting)."""

from django import template

from isseg_portal.formatting import pesos

register = template.Library()
register.filter("pesos", pesos)

"""`{% load money %}{{ amount|pesos }}` gives "$9,500.00" (see isseg_portal.money)."""

from django import template

from isseg_portal.money import pesos

register = template.Library()
register.filter("pesos", pesos)

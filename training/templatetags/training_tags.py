from django import template

register = template.Library()


@register.filter
def get(mapping, key):
    return (mapping or {}).get(key)


@register.filter
def gap(value):
    """Signed, three decimals; small values in scientific notation; '-' when missing."""
    if value is None:
        return "-"
    return f"{value:+.3f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}"

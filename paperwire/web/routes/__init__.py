"""One router per resource; every HTML page sits beside its JSON twin."""

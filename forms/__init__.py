"""Form definitions: field types, translations, versions, skip logic, validators.

Filled in by the Forms issue; imports only ``schemas``.
"""

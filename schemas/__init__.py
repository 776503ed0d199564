"""Marshmallow schemas of the stored document types and the REST payloads.

Filled in with the REST API; imports no other layer.
"""

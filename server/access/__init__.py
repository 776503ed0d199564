"""The one access policy: who may read and write which document revision, on every path.

* ``roles``: the role sets (who reads the campaign, who changes it, who sees roster data);
* ``privacy``: what counts as roster data (a resident's personal details), and its private fields;
* ``channels``: which channels a revision belongs to, and which channels a user is granted;
* ``reads``: may a reader see this revision (its own body and the document's channels now);
* ``writes``: may a writer store this revision over what the store holds.

``/sync``, the REST API, the exports, the asset map and the reports ask these
and nothing else; ``docs/permissions.md`` is the table they answer.
"""

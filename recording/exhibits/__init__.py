"""Exhibits: documents, pictures, sound and video submitted as evidence, checked by their
content, numbered, sealed at rest like the recordings, admitted or refused, and exported with
a signed index that verifies offline (docs/exhibits.md)."""

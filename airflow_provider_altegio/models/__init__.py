"""Pydantic models of the Altegio and Altacolor APIs: :mod:`.altegio`, :mod:`.altacolor`, and the
bases, tolerant field types and date helpers they share in :mod:`.common`."""

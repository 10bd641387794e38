"""The salon's jobs, built from several API calls: above the hooks, below operators and DAGs.

* :mod:`.booking`: storage operations booked exactly once.
* :mod:`.catalogue`: finding products by code, bulk product updates.
* :mod:`.restock`: what runs low, purchase orders and deliveries.
* :mod:`.stocklists`: lists people hand in (damage lists, stocktake counts).
"""

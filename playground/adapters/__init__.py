"""An adapter folder's files (``adapters/<name>/``): its recipe and its model card.

Training writes them and evaluation reads the recipe and fills sections of the card, so
they sit below both; nothing here loads a model or imports torch.
"""

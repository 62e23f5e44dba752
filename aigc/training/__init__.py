"""Training: the steps (written once) and the loop that drives them."""

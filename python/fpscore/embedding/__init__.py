"""The method's one-time pre-computation (DESIGN §1 steps 1–3, §5): the initial log-density of an
image (`density`), its transport along the probability flow (`transport`), the pre-computation of a
whole image set with its parameters (`params`, `precompute`), read back through `cache`, and `show`
to look at a cache."""

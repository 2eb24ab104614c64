"""Does it work, and is it faster? Image metrics (`metrics`), the one-command demo (`demo`), the
baselines the method is compared with (`baselines`: DDPM and EDM, each its own network, loss and
sampler, plugged into the same trainer) and the experiment that runs the arms side by side
(`experiment`)."""

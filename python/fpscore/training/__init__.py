"""Training a score network (DESIGN §1 step 4, §5): the typed config (`config`), the networks
(`models`), the losses (`losses`), the trainer (`trainer`) and its checkpoints (`checkpoint`).
Everything but `config` needs torch."""

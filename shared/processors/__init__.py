"""The processors the bundle ships: one package each, with its settings, its client and
its run()."""

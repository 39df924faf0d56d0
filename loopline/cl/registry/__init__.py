"""The model registry: registered model versions with lineage (`versions`), and aliases that
move by gated promotion with a recorded history (`promotion`)."""

"""Programs: the therapist's builder, dosage versions, and the printable handout."""

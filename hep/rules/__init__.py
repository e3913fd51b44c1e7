"""Pure clinical and billing rules; no Flask, no DB, no clock."""

-- An idempotency key keeps the answer's document only: where the created
-- row lives is the HTTP layer's business, rebuilt from the document's id,
-- and the status follows from the route.
ALTER TABLE idempotency_key DROP COLUMN status, DROP COLUMN location;

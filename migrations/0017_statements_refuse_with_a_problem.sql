-- A statement can refuse a request with the answer it deserves, so that a
-- check the database makes needs no round trip of its own: duban sends it
-- with the write that follows, and the write fails with it when the check
-- fails. refuse() raises SQLSTATE 'DB' and the HTTP status (DB403, DB404,
-- DB409, DB422), its message the problem's detail (or, for a 422 naming a
-- field, that field's message), its COLUMN the field; model/db.c maps it.
-- It returns boolean only so that it can stand in any expression.
CREATE FUNCTION refuse(status integer, field text, message text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'DB' || status, MESSAGE = message, COLUMN = coalesce(field, '');
END $$;

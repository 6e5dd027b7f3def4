-- Rate limits shared by every duban instance: the requests each token made
-- in each minute, summed over the instances. Each instance adds what it
-- counted about once a second and learns the others' sum in return
-- (api/ratelimit.c), so that a token's budget is one however many
-- instances serve it. UNLOGGED: counts are worth no WAL and no replication;
-- a crash or a failover starts them from zero, which forgives at most one
-- minute's requests.
CREATE UNLOGGED TABLE rate_budget (
    token_id bigint NOT NULL,
    minute   bigint NOT NULL,       -- minutes since the Unix epoch
    used     integer NOT NULL CHECK (used >= 0),
    PRIMARY KEY (token_id, minute)
);

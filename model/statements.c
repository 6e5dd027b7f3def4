#include "model/statements.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CAPACITY = 512, LIMIT = 384 };

struct entry {
    char *sql;         /* NULL when the slot is free */
    uint64_t hash;
    char name[24];
};

struct statements {
    struct entry entries[CAPACITY];
    size_t count;
    unsigned long next;   /* numbers names, so they never repeat on one connection */
};

static uint64_t hash_of(const char *sql)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *sql; sql++)
        h = (h ^ (unsigned char)*sql) * 1099511628211ULL;
    return h;
}

struct statements *statements_new(void) { return calloc(1, sizeof(struct statements)); }

void statements_reset(struct statements *s)
{
    for (size_t i = 0; i < CAPACITY; i++) {
        free(s->entries[i].sql);
        s->entries[i].sql = NULL;
    }
    s->count = 0;
}

void statements_free(struct statements *s)
{
    if (s)
        statements_reset(s);
    free(s);
}

/* The entry of sql, or the free slot where it would go (linear probing). */
static struct entry *find(struct statements *s, const char *sql, uint64_t hash)
{
    for (size_t i = hash % CAPACITY;; i = (i + 1) % CAPACITY) {
        struct entry *e = &s->entries[i];
        if (!e->sql || (e->hash == hash && strcmp(e->sql, sql) == 0))
            return e;
    }
}

const char *statements_name(struct statements *s, const char *sql, int *fresh)
{
    uint64_t hash = hash_of(sql);
    struct entry *e = find(s, sql, hash);
    *fresh = 0;
    if (e->sql)
        return e->name;
    if (s->count >= LIMIT || !(e->sql = strdup(sql)))
        return NULL;
    e->hash = hash;
    snprintf(e->name, sizeof e->name, "d%lu", ++s->next);
    s->count++;
    *fresh = 1;
    return e->name;
}

/* Removing from a linear-probing table: re-insert the cluster after it. */
void statements_forget(struct statements *s, const char *sql)
{
    uint64_t hash = hash_of(sql);
    struct entry *e = find(s, sql, hash);
    if (!e->sql)
        return;
    free(e->sql);
    e->sql = NULL;
    s->count--;
    for (size_t i = ((size_t)(e - s->entries) + 1) % CAPACITY; s->entries[i].sql; i = (i + 1) % CAPACITY) {
        struct entry moved = s->entries[i];
        s->entries[i].sql = NULL;
        *find(s, moved.sql, moved.hash) = moved;
    }
}

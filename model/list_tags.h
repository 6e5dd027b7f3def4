/* The entity-tags of lists this duban computed lately, kept so that a
 * revalidation whose copy is still current is answered without asking
 * the database.
 *
 * A remembered tag holds while no write may have changed a list: every
 * write this duban commits forgets them all at once (before it answers),
 * and so does every notification of change events, which the change hub
 * receives for writes committed by other instances or straight into the
 * database. While the hub is not listening (at start, after its
 * connection dropped) nothing is remembered. A tag also ends with the day
 * it was computed on, since what a task shows depends on today. Only lists
 * whose every row change records a change event may be remembered. */
#ifndef DUBAN_LIST_TAGS_H
#define DUBAN_LIST_TAGS_H

#include <stddef.h>
#include <stdint.h>

/* The count of forgettings so far: read it before computing a tag, and
 * remember the tag under it. */
uint64_t list_tags_generation(void);

/* Forgets every tag: a write committed. */
void list_tags_forget(void);

/* Whether writes made elsewhere are being heard of (the change hub
 * listens); each change forgets every tag. */
void list_tags_hearing(int on);

/* Remembers tag as the one of the list keyed `key`, computed after
 * `generation` was read, until the Unix time `until`. */
void list_tags_remember(uint64_t key, const char *tag, uint64_t generation, int64_t until);

/* Copies into tag (size bytes) the list's tag when one is remembered and
 * still holds; returns whether it did. */
int list_tags_recall(uint64_t key, char *tag, size_t size);

#endif

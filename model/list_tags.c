/* Remembered list tags (model/list_tags.h): a small table indexed by the
 * query's key, one mutex, a generation that a write moves on. */
#include "model/list_tags.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum { SLOTS = 1024, TAG_SIZE = 24 };

struct remembered {
    uint64_t key;
    uint64_t generation;
    int64_t until;
    char tag[TAG_SIZE];
};

static struct remembered slots[SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint_fast64_t generation = 1;
static atomic_int hearing;

uint64_t list_tags_generation(void) { return atomic_load(&generation); }

void list_tags_forget(void) { atomic_fetch_add(&generation, 1); }

void list_tags_hearing(int on)
{
    atomic_store(&hearing, on);
    list_tags_forget();
}

void list_tags_remember(uint64_t key, const char *tag, uint64_t computed_after, int64_t until)
{
    if (!atomic_load(&hearing) || strlen(tag) >= TAG_SIZE)
        return;
    struct remembered *r = &slots[key % SLOTS];
    pthread_mutex_lock(&lock);
    *r = (struct remembered){.key = key, .generation = computed_after, .until = until};
    strcpy(r->tag, tag);
    pthread_mutex_unlock(&lock);
}

int list_tags_recall(uint64_t key, char *tag, size_t size)
{
    if (!atomic_load(&hearing))
        return 0;
    uint64_t now_generation = atomic_load(&generation);
    int64_t now = (int64_t)time(NULL);
    const struct remembered *r = &slots[key % SLOTS];
    pthread_mutex_lock(&lock);
    int holds = r->key == key && r->generation == now_generation && now < r->until && strlen(r->tag) < size;
    if (holds)
        strcpy(tag, r->tag);
    pthread_mutex_unlock(&lock);
    return holds;
}

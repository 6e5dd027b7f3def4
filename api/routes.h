/* Every resource file's registration function, called once at start-up. */
#ifndef DUBAN_ROUTES_H
#define DUBAN_ROUTES_H

struct router;

void health_register(struct router *r);
void resources_register(struct router *r);
void tokens_register(struct router *r);
void audit_register(struct router *r);
void docs_register(struct router *r);
void documents_register(struct router *r);
void reports_register(struct router *r);
void merge_register(struct router *r);
void supervision_reports_register(struct router *r);
void supervision_actions_register(struct router *r);
void changes_register(struct router *r);
void webhooks_register(struct router *r);

#endif

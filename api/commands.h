/* The commands of the duban executable besides `serve`, each working on
 * the database directly from a shell. They return the process exit code:
 * 0 done, 1 failed, 2 used wrongly. */
#ifndef DUBAN_COMMANDS_H
#define DUBAN_COMMANDS_H

struct app;

int cmd_migrate(struct app *app, int argc, char **argv);
int cmd_token(struct app *app, int argc, char **argv);
int cmd_routes(struct app *app, int argc, char **argv);
int cmd_import(struct app *app, int argc, char **argv);
int cmd_export(struct app *app, int argc, char **argv);

#endif

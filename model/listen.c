#include "model/listen.h"

#include <stdio.h>

PGconn *db_listen(const char *url, const char *application, const char *options, const char *channel)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name", options ? "options" : NULL, NULL};
    const char *values[] = {url, "2", application, options, NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (PQstatus(conn) == CONNECTION_OK) {
        char sql[96];
        snprintf(sql, sizeof sql, "LISTEN %s", channel);
        PGresult *res = PQexec(conn, sql);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (ok)
            return conn;
    }
    PQfinish(conn);
    return NULL;
}

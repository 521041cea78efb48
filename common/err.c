/* SPDX-License-Identifier: MIT */
/* The strings behind the E_* table in err.h. */
#include "err.h"

#include "poison.h"

const char *
err_str(int code)
{
    switch (code) {
#define ERR_STR_(name, val, msg) \
    case (val):                  \
        return (msg);
        ERR_MAP(ERR_STR_)
#undef ERR_STR_
    default:
        return "unknown error";
    }
}

const char *
err_name(int code)
{
    switch (code) {
#define ERR_NAME_(name, val, msg) \
    case (val):                   \
        return "E_" #name;
        ERR_MAP(ERR_NAME_)
#undef ERR_NAME_
    default:
        return "E_UNKNOWN";
    }
}

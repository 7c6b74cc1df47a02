#ifndef FFNSCOPE_SITE_H
#define FFNSCOPE_SITE_H

/* Where in the FFN an activation is captured (README "What it measures"). */
typedef enum Site {
    SITE_POST = 0, /* input to the down projection, after the nonlinearity */
    SITE_PRE = 1,  /* up/gate projection output, before the nonlinearity */
    SITE_COUNT
} Site;

#define SITE_BIT(s) (1u << (s))

static inline const char *siteName(Site s) { return s == SITE_PRE ? "pre" : "post"; }

#endif

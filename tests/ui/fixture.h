#ifndef FFNSCOPE_TESTS_UI_FIXTURE_H
#define FFNSCOPE_TESTS_UI_FIXTURE_H

#include "ffnscope/snapshot.h"

/* A fixed snapshot for the view tests: three families, every model status,
 * both sites on one model, warnings on another, closed-form power-law
 * spectra (so every run builds the same bytes). */
Snapshot *fixtureSnapshot(void);
/* A dense model and a mixture-of-experts one (2 layers, experts e0-e3 and the shared
 * one at width 32, spectra of k equal eigenvalues, known token counts per expert). */
Snapshot *fixtureMoeSnapshot(void);

#endif

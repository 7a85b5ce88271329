/* placeholder: replaced by the test helper work */
#include "testutil.h"

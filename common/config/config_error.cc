#include "common/config/config_error.h"

// OpenBLAS through its CBLAS interface plus the OpenBLAS-specific controls.
#include <cblas.h>

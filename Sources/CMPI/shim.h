// OpenMPI for Swift. MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE... are macros expanding to
// addresses of global objects, which Swift cannot import; these getters return them.
#ifndef AVTRAIN_CMPI_SHIM_H
#define AVTRAIN_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm avmpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype avmpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype avmpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype avmpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype avmpi_byte(void) { return MPI_BYTE; }
static inline MPI_Request avmpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Op avmpi_sum(void) { return MPI_SUM; }
static inline MPI_Op avmpi_max(void) { return MPI_MAX; }
static inline void *avmpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Errhandler avmpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int avmpi_success(void) { return MPI_SUCCESS; }
static inline int avmpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int avmpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int avmpi_max_library_version_string(void) { return MPI_MAX_LIBRARY_VERSION_STRING; }
#endif

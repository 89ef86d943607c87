/* Private HDF5 helpers shared by the HDF5 readers in src/data/. */
#ifndef BK_DATA_H5_INTERNAL_H
#define BK_DATA_H5_INTERNAL_H
#include "data_internal.h"
#include <hdf5.h>

#if H5_VERSION_GE(1, 12, 0)
typedef H5L_info2_t bk_h5_link_info;
#else
typedef H5L_info_t bk_h5_link_info;
#endif

/* Serializes brisk's HDF5 calls (the library may be built without
 * thread-safety, and read() runs on the loader's worker thread) and turns
 * off HDF5's own printing of its error stack for the calling thread:
 * brisk reports errors itself. */
void bk_h5_lock(void);
void bk_h5_unlock(void);

/* HDF5's own reason for the last failure, for appending to messages
 * (buf holds at least 256 bytes). */
const char *bk_h5_reason(char *buf);

/* Opens an existing HDF5 file read-only, with messages for a missing file
 * or one that is not HDF5. Call with the lock held. */
bk_status bk_h5_open_file(hid_t *out, const char *path);

/* Whether name in file is a group (1), a dataset (0) or neither / absent
 * (-1). Call with the lock held. */
int bk_h5_kind(hid_t file, const char *name);

/* The datasets below group `root` of file (every depth), as paths
 * relative to root, sorted by strcmp; *out is malloc'd, each path too
 * (free with bk_h5_free_list). Call with the lock held. */
bk_status bk_h5_list_datasets(hid_t file, const char *root, const char *path, char ***out, int64_t *n);
void bk_h5_free_list(char **list, int64_t n);

/* One sample per dataset (hdf5_samples.c): the datasets below group
 * `group` of path ("/" for the whole file), sorted by path relative to it
 * and named by it. All must have one shape (a 0-d dataset is [1] for
 * inputs, [] for targets). preload reads all at open; else read() reads
 * each sample's dataset. Caller destroys the dataset. */
bk_status bk_data_h5_samples(bk_dataset **out, const char *path, const char *group, int is_target, int preload);
#endif

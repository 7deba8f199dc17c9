#ifndef LUFFY_CZIP_SHIM_H
#define LUFFY_CZIP_SHIM_H
// libzip: Alipay's bill files are zips (Sources/Alipay/Bill/ZipArchive.swift).
#include <zip.h>
#endif

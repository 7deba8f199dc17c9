#ifndef LUFFY_CICONV_SHIM_H
#define LUFFY_CICONV_SHIM_H
// glibc's iconv (no extra library): Alipay's bill files are GBK (Sources/Alipay/Bill/GBK.swift).
#include <iconv.h>
#endif

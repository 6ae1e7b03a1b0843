# Defines the imported target asio_uring::liburing (Debian: liburing-dev).
if(NOT TARGET asio_uring::liburing)
  find_path(ASIO_URING_LIBURING_INCLUDE_DIR liburing.h)
  find_library(ASIO_URING_LIBURING_LIBRARY NAMES uring)
  if(NOT ASIO_URING_LIBURING_INCLUDE_DIR OR NOT ASIO_URING_LIBURING_LIBRARY)
    message(FATAL_ERROR "asio_uring needs liburing (Debian/Ubuntu: apt-get install liburing-dev)")
  endif()
  add_library(asio_uring::liburing UNKNOWN IMPORTED)
  set_target_properties(asio_uring::liburing PROPERTIES
    IMPORTED_LOCATION "${ASIO_URING_LIBURING_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${ASIO_URING_LIBURING_INCLUDE_DIR}")
endif()

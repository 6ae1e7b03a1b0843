//
// facade.hpp
// ~~~~~~~~~~
//
// Makes asio_uring a superset of boost::asio: every Boost.Asio name that
// asio_uring does not replace is reachable as asio_uring::name. Names are
// brought in one by one (using-declarations, not a using-directive), so
// `using namespace asio_uring;` never makes asio_uring::io_context and
// boost::asio::io_context ambiguous.
//
#pragma once

#include <boost/asio.hpp>

// Declared here so that the aliases below exist even before a program
// includes <boost/asio/experimental/...> or <boost/asio/ssl.hpp>.
namespace boost::asio::experimental {}
namespace boost::asio::ssl {}

namespace asio_uring {

// Buffers and dynamic buffers.
using boost::asio::basic_streambuf;
using boost::asio::basic_streambuf_ref;
using boost::asio::buffer;
using boost::asio::buffer_cast;
using boost::asio::buffer_copy;
using boost::asio::buffer_sequence_begin;
using boost::asio::buffer_sequence_end;
using boost::asio::buffer_size;
using boost::asio::buffers_begin;
using boost::asio::buffers_end;
using boost::asio::buffers_iterator;
using boost::asio::const_buffer;
using boost::asio::const_buffers_1;
using boost::asio::const_registered_buffer;
using boost::asio::dynamic_buffer;
using boost::asio::dynamic_string_buffer;
using boost::asio::dynamic_vector_buffer;
using boost::asio::is_const_buffer_sequence;
using boost::asio::is_contiguous_iterator;
using boost::asio::is_dynamic_buffer;
using boost::asio::is_dynamic_buffer_v1;
using boost::asio::is_dynamic_buffer_v2;
using boost::asio::is_mutable_buffer_sequence;
using boost::asio::mutable_buffer;
using boost::asio::mutable_buffers_1;
using boost::asio::mutable_registered_buffer;
using boost::asio::null_buffers;
using boost::asio::registered_buffer_id;
using boost::asio::streambuf;

// Composed operations and completion conditions.
using boost::asio::async_compose;
using boost::asio::async_connect;
using boost::asio::async_read;
using boost::asio::async_read_at;
using boost::asio::async_read_until;
using boost::asio::async_write;
using boost::asio::async_write_at;
using boost::asio::connect;
using boost::asio::is_endpoint_sequence;
using boost::asio::is_match_condition;
using boost::asio::read;
using boost::asio::read_at;
using boost::asio::read_until;
using boost::asio::transfer_all;
using boost::asio::transfer_at_least;
using boost::asio::transfer_exactly;
using boost::asio::write;
using boost::asio::write_at;

// Completion tokens, adapters and the async model.
using boost::asio::any_completion_executor;
using boost::asio::any_completion_handler;
using boost::asio::any_completion_handler_allocator;
using boost::asio::append;
using boost::asio::append_t;
using boost::asio::as_tuple;
using boost::asio::as_tuple_t;
using boost::asio::async_completion;
using boost::asio::async_initiate;
using boost::asio::async_result;
using boost::asio::completion_signature_of;
using boost::asio::completion_signature_of_t;
using boost::asio::awaitable;
using boost::asio::co_spawn;
using boost::asio::consign;
using boost::asio::consign_t;
using boost::asio::default_completion_token;
using boost::asio::default_completion_token_t;
using boost::asio::deferred;
using boost::asio::deferred_async_operation;
using boost::asio::deferred_conditional;
using boost::asio::deferred_function;
using boost::asio::deferred_init_tag;
using boost::asio::deferred_noop;
using boost::asio::deferred_sequence;
using boost::asio::deferred_t;
using boost::asio::deferred_values;
using boost::asio::detached;
using boost::asio::detached_t;
using boost::asio::is_async_operation;
using boost::asio::is_deferred;
using boost::asio::prepend;
using boost::asio::prepend_t;
using boost::asio::redirect_error;
using boost::asio::redirect_error_t;
using boost::asio::use_awaitable;
using boost::asio::use_awaitable_t;
using boost::asio::use_future;
using boost::asio::use_future_t;
using boost::asio::coroutine;

// Handler hooks (the deprecated ones' result types included, so that old
// handlers that name them through the namespace still compile).
using boost::asio::asio_handler_allocate_is_deprecated;
using boost::asio::asio_handler_deallocate_is_deprecated;
using boost::asio::asio_handler_invoke_is_deprecated;
using boost::asio::asio_handler_is_continuation;

// Associators and binders.
using boost::asio::allocator_binder;
using boost::asio::associated_allocator;
using boost::asio::associated_allocator_t;
using boost::asio::associated_cancellation_slot;
using boost::asio::associated_cancellation_slot_t;
using boost::asio::associated_executor;
using boost::asio::associated_executor_t;
using boost::asio::associator;
using boost::asio::bind_allocator;
using boost::asio::bind_cancellation_slot;
using boost::asio::bind_executor;
using boost::asio::cancellation_slot_binder;
using boost::asio::executor_binder;
using boost::asio::get_associated_allocator;
using boost::asio::get_associated_cancellation_slot;
using boost::asio::get_associated_executor;

// Cancellation.
using boost::asio::cancellation_filter;
using boost::asio::cancellation_signal;
using boost::asio::cancellation_slot;
using boost::asio::cancellation_state;
using boost::asio::cancellation_type;
using boost::asio::cancellation_type_t;
using boost::asio::disable_cancellation;
using boost::asio::enable_partial_cancellation;
using boost::asio::enable_terminal_cancellation;
using boost::asio::enable_total_cancellation;

// Executors, contexts and services.
using boost::asio::add_service;
using boost::asio::any_io_executor;
using boost::asio::bad_executor;
using boost::asio::basic_system_executor;
using boost::asio::can_prefer;
using boost::asio::can_query;
using boost::asio::can_require;
using boost::asio::can_require_concept;
using boost::asio::defer;
using boost::asio::dispatch;
using boost::asio::execution_context;
using boost::asio::executor;
using boost::asio::executor_arg;
using boost::asio::executor_arg_t;
using boost::asio::executor_work_guard;
using boost::asio::has_service;
using boost::asio::invalid_service_owner;
using boost::asio::is_applicable_property;
using boost::asio::is_executor;
using boost::asio::is_nothrow_prefer;
using boost::asio::is_nothrow_query;
using boost::asio::is_nothrow_require;
using boost::asio::is_nothrow_require_concept;
using boost::asio::make_strand;
using boost::asio::make_work_guard;
using boost::asio::multiple_exceptions;
using boost::asio::post;
using boost::asio::prefer;
using boost::asio::prefer_result;
using boost::asio::prefer_t;
using boost::asio::query;
using boost::asio::query_result;
using boost::asio::query_t;
using boost::asio::recycling_allocator;
using boost::asio::require;
using boost::asio::require_result;
using boost::asio::require_t;
using boost::asio::require_concept;
using boost::asio::require_concept_result;
using boost::asio::require_concept_t;
using boost::asio::service_already_exists;
using boost::asio::static_thread_pool;
using boost::asio::strand;
using boost::asio::system_context;
using boost::asio::system_executor;
using boost::asio::thread_pool;
using boost::asio::use_service;
using boost::asio::uses_executor;

// Sockets, streams and other Boost.Asio I/O objects (not replaced).
using boost::asio::basic_deadline_timer;
using boost::asio::basic_io_object;
using boost::asio::basic_raw_socket;
using boost::asio::basic_readable_pipe;
using boost::asio::basic_seq_packet_socket;
using boost::asio::basic_serial_port;
using boost::asio::basic_signal_set;
using boost::asio::basic_socket_iostream;
using boost::asio::basic_socket_streambuf;
using boost::asio::basic_writable_pipe;
using boost::asio::buffered_read_stream;
using boost::asio::buffered_stream;
using boost::asio::buffered_write_stream;
using boost::asio::connect_pipe;
using boost::asio::is_read_buffered;
using boost::asio::is_write_buffered;
using boost::asio::readable_pipe;
using boost::asio::serial_port;
using boost::asio::serial_port_base;
using boost::asio::signal_set;
using boost::asio::socket_base;
using boost::asio::writable_pipe;

// Time. deadline_timer is Boost.Asio's own (Boost.Date_Time based, not
// ring-backed); it runs on an asio_uring executor like any Boost.Asio
// I/O object.
using boost::asio::wait_traits;
#if defined(BOOST_ASIO_HAS_BOOST_DATE_TIME)
using boost::asio::deadline_timer;
using boost::asio::time_traits;
#endif

// Nested namespaces, shared with Boost.Asio.
namespace error = boost::asio::error;
namespace execution = boost::asio::execution;
namespace experimental = boost::asio::experimental;
namespace generic = boost::asio::generic;
namespace placeholders = boost::asio::placeholders;
namespace ssl = boost::asio::ssl;
namespace this_coro = boost::asio::this_coro;
namespace traits = boost::asio::traits;

// basic_socket, basic_stream_socket, basic_datagram_socket,
// basic_socket_acceptor, ip::tcp, ip::udp and
// posix::(basic_)(stream_)descriptor are asio_uring's own (ring-backed; see
// basic_socket.hpp, ip/, posix/). The rest of posix is Boost.Asio's.
namespace posix {

using boost::asio::posix::descriptor_base;

} // namespace posix

// local::stream_protocol, local::datagram_protocol (their sockets and
// acceptor) and local::connect_pair for asio_uring's sockets are
// asio_uring's own (local/). The rest of local is Boost.Asio's.
namespace local {

using boost::asio::local::basic_endpoint;
using boost::asio::local::connect_pair;

} // namespace local

namespace ip {

using boost::asio::ip::address;
using boost::asio::ip::address_v4;
using boost::asio::ip::address_v4_iterator;
using boost::asio::ip::address_v4_range;
using boost::asio::ip::address_v6;
using boost::asio::ip::address_v6_iterator;
using boost::asio::ip::address_v6_range;
using boost::asio::ip::bad_address_cast;
using boost::asio::ip::basic_endpoint;
using boost::asio::ip::basic_resolver;
using boost::asio::ip::basic_resolver_entry;
using boost::asio::ip::basic_resolver_iterator;
using boost::asio::ip::basic_resolver_query;
using boost::asio::ip::basic_resolver_results;
using boost::asio::ip::host_name;
using boost::asio::ip::icmp;
using boost::asio::ip::make_address;
using boost::asio::ip::make_address_v4;
using boost::asio::ip::make_address_v6;
using boost::asio::ip::make_network_v4;
using boost::asio::ip::make_network_v6;
using boost::asio::ip::network_v4;
using boost::asio::ip::network_v6;
using boost::asio::ip::port_type;
using boost::asio::ip::resolver_base;
using boost::asio::ip::resolver_query_base;
using boost::asio::ip::scope_id_type;
using boost::asio::ip::v4_mapped;
using boost::asio::ip::v4_mapped_t;
using boost::asio::ip::v6_only;
namespace multicast = boost::asio::ip::multicast;
namespace unicast = boost::asio::ip::unicast;

} // namespace ip

} // namespace asio_uring

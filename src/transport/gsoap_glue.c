/* gsoap_glue: the one translation unit that compiles soapcpp2's output ($(builddir)/gsoap,
 * generated from src/transport/gsoap/cdagate.h) and defines the namespace table the gSOAP
 * runtime looks up. Generated code is never edited; this file only sets the feature macros
 * stdsoap2.h needs (locale_t) and keeps the generated code out of our warning policy. */
#define _GNU_SOURCE
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include "gsoap/soapC.c"
#pragma GCC diagnostic pop

/* Declared on every Envelope gSOAP writes: transport/envelope writes header and body text with
 * these prefixes. gSOAP switches SOAP-ENV to the SOAP 1.1 namespace for 1.1 answers. */
SOAP_NMAC struct Namespace namespaces[] = {
    {"SOAP-ENV", "http://www.w3.org/2003/05/soap-envelope", "http://schemas.xmlsoap.org/soap/envelope/", NULL},
    {"SOAP-ENC", "http://www.w3.org/2003/05/soap-encoding", "http://schemas.xmlsoap.org/soap/encoding/", NULL},
    {"wsa", "http://www.w3.org/2005/08/addressing", NULL, NULL},
    {NULL, NULL, NULL, NULL}};

/* The same for SOAP 1.1 answers (VersionMismatch faults to SOAP 1.1 senders). */
struct Namespace cg_wire_namespaces11[] = {
    {"SOAP-ENV", "http://schemas.xmlsoap.org/soap/envelope/", NULL, NULL},
    {"SOAP-ENC", "http://schemas.xmlsoap.org/soap/encoding/", NULL, NULL},
    {NULL, NULL, NULL, NULL}};

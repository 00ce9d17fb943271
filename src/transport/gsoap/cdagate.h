/* cdagate.h: the soapcpp2 input for the transport's generated code (built into $(builddir)/gsoap).
 * No service operations and no ebRIM bindings: bodies are libxml2 trees. soapcpp2 still emits
 * what the gSOAP runtime links against: the SOAP 1.2 Header and Fault (de)serialisers that
 * transport/wire uses for fault answers (soap_putfault). The namespace table is in
 * transport/gsoap_glue.c. */

//gsoap SOAP-ENV schema namespace: http://www.w3.org/2003/05/soap-envelope
//gsoap SOAP-ENC schema namespace: http://www.w3.org/2003/05/soap-encoding
//gsoap wsa schema namespace: http://www.w3.org/2005/08/addressing

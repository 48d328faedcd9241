# tiprelay: mensajes en español, certs.

## tipcerts: errores de la biblioteca de PKI
certs-err-exists = { $path } ya existe; elija otra ruta o use --force para reemplazarlo
certs-err-bad-ca-dir = { $path } no es un directorio de CA utilizable: { $why }
certs-err-rcgen = falló la generación del certificado: { $error }
certs-no-cert-block = este archivo PEM no contiene ningún bloque CERTIFICATE
certs-ca-key-no-pkcs8 = ca.key no contiene ningún bloque PKCS#8 PRIVATE KEY
certs-days-positive = --days debe ser positivo
certs-ca-dir-missing = no existe o no es un directorio (cree uno con `tipcerts init-ca`)
certs-ca-toml-unreadable = no se puede leer ca.toml: { $error }
certs-ca-toml-bad = ca.toml: { $error }
certs-ca-toml-authority = autoridad de ca.toml: { $error }
certs-ca-toml-bad-serial = ca.toml tiene un número de serie erróneo: { $serial }
certs-ca-crt-bad = ca.crt: { $error }
certs-ca-key-mismatch = ca.key no corresponde a ca.crt
certs-not-own-authority = la CA de { $ca } no puede emitir { $identity }: cada CA emite solo identidades de su propia autoridad ({ $identity } pertenece a { $owner })
certs-validity-order = el periodo de validez debe terminar después de empezar
certs-relay-via-issue-relay = las identidades de relé se emiten con `tipcerts issue-relay`
certs-relay-needs-name = indique al menos un nombre --dns o --ip al que se conectarán los clientes
certs-not-x509 = no es un certificado X.509
certs-ca-cert-unreadable = el certificado de la CA no se puede leer
certs-not-issued-here = este certificado no lo emitió la CA de { $ca } en { $dir }
certs-key-file = { $path }: { $why }
certs-key-encode = no se puede codificar una clave: { $why }
certs-key-not-ed25519-because = no es una clave privada Ed25519 PKCS#8 ({ $error })
certs-key-not-ed25519 = no es una clave privada Ed25519 PKCS#8
certs-key-not-pem = no es un archivo PEM
certs-key-wrong-block = contiene un bloque { $label }, no un PKCS#8 PRIVATE KEY
certs-dev-two-jurisdictions = --jurisdictions necesita al menos dos códigos distintos, p. ej. MX,US
certs-dev-federated-two = una instalación federada necesita dos jurisdicciones distintas, p. ej. MX y US
certs-dev-distinct-addresses = los dos relés necesitan direcciones distintas

## tipcerts show
certs-show-bad-pem = PEM erróneo: { $error }
certs-show-private-key = esto es una clave privada; `show` solo muestra certificados y CRL
certs-show-nothing = no se encontró ningún certificado ni CRL
certs-show-not-crl = no es una CRL: { $error }
certs-show-certificate = Certificado
certs-show-crl = Lista de revocación de certificados (CRL)
certs-show-identity = identidad:     { $value }
certs-show-no-identity = (ninguna: no es un certificado de principal)
certs-show-role = función:       { $value }
certs-show-subject = sujeto:        { $value }
certs-show-issuer = emisor:        { $value }
certs-show-valid = válido:        { $from } .. { $until } ({ $status })
certs-show-names = nombres:       { $value }
certs-show-serial = n.º de serie:  { $value }
certs-show-sha256 = sha256:        { $value }
certs-show-number = número:        { $value }
certs-show-this-update = emitida:       { $value }
certs-show-next-update = próxima:       { $value } ({ $status })
certs-show-revoked = revocados:     { $value }
certs-show-none = ninguno
certs-show-status-valid = válido
certs-show-status-expired = vencido
certs-show-status-not-yet-valid = aún no válido
certs-show-status-current = vigente
certs-show-status-stale = caducada (pasó su nextUpdate)

## tipcerts: comandos
certs-converted = convertida a PKCS#8 v1: { $file }
certs-already-v1 = ya era PKCS#8 v1:       { $file }
certs-convert-failed = { $failed } de { $total ->
        [one] 1 archivo
       *[other] { $total } archivos
    } no se pudieron convertir (se dejaron como estaban)
certs-federated-two = --federated conecta exactamente dos jurisdicciones (--jurisdictions MX,US)
certs-relay-addr-whose = --relay-addr { $given }: con --federated, indique de quién es el relé: J=HOST:PUERTO (p. ej. MX=127.0.0.1:4433)
certs-relay-addr-not-j-host-port = --relay-addr { $given }: no tiene la forma J=HOST:PUERTO
certs-relay-addr-not-listed = --relay-addr { $given }: { $jurisdiction } no es una de --jurisdictions { $a },{ $b }
certs-relay-addr-not-host-port = --relay-addr { $given }: no tiene la forma HOST:PUERTO
certs-dev-one-relay-addr = sin --federated, un solo --relay-addr (un único relé)
certs-init-ca-which = indique --jurisdiction CÓDIGO o --relay-operator
certs-creating-ca = al crear la CA de { $authority }
certs-created-ca = se creó la CA raíz de { $authority } en { $dir }
certs-created-ca-public = público:  { $dir }/ca.crt y { $dir }/crl.pem (entréguelos al relé y a la contraparte)
certs-created-ca-secret = secreto:  { $dir }/ca.key (modo 0600; consérvelo en esta máquina)
certs-public-key-unreadable = no se puede leer: { $error }
certs-public-key-not-ed25519 = no es una «PUBLIC KEY» PEM de una clave Ed25519 ({ $error })
certs-created-ca-token = secreto:  la clave raíz queda en el token PKCS#11 (sin ca.key); ca.toml registra su URI, biblioteca y archivo de PIN
certs-token-public-written = se escribió la clave pública de { $uri } en { $file } (entréguela a `tipcerts issue-relay --signing-public-key`)
certs-created-ca-rollover = raíz de relevo, generación { $generation }: confíe en ella junto a la raíz anterior desde ahora (las dos raíces en un archivo: cat { $old }/ca.crt { $dir }/ca.crt; las dos CRL: cat { $old }/crl.pem { $dir }/crl.pem), luego vuelva a emitir cada certificado con --ca { $dir } y retire la raíz anterior cuando ninguno de sus certificados siga en uso (OPERATIONS.md, «CA rollover»)
certs-issuing = al emitir { $identity }
certs-issuing-relay = al emitir los certificados del relé
certs-issued = se emitió { $identity } en { $dir }
certs-issued-tls = tls.crt / tls.key    certificado TLS de cliente (id-kp-clientAuth)
certs-issued-sign = sign.crt / sign.key  certificado de firma (id-kp-documentSigning)
certs-revoked = se revocó { $identity }; la CRL es ahora la número { $number }: publíquela en el relé y entréguela a la contraparte
certs-crl-written = se escribió la CRL número { $number } en { $file } (próxima actualización en { $days ->
        [one] 1 día
       *[other] { $days } días
    })
certs-dev-federated = instalación federada de desarrollo en { $dir }
certs-dev-federated-side = { $jurisdiction }: relé { $dir }/{ $jurisdiction }/relay.toml ({ $identity } en { $address }); clientes { $dir }/{ $jurisdiction }/analyst.toml, { $dir }/{ $jurisdiction }/feed.toml
certs-dev-setup = instalación de desarrollo en { $dir }
certs-dev-relay = relé:     { $dir }/relay.toml ({ $identity } en { $address })
certs-dev-clients = { $jurisdiction }:       { $dir }/{ $jurisdiction }/analyst.toml, { $dir }/{ $jurisdiction }/feed.toml

## tipcerts renew
certs-renew-renewing = renovando los certificados de { $cert }
certs-renew-root = este es un certificado de CA: una raíz se sustituye con un relevo de CA, no se renueva; indique el tls.crt o el sign.crt de un principal o de un relé
certs-renew-no-identity = este certificado no lleva una identidad tiprelay://; solo se renuevan certificados de principales y de relés
certs-renew-revoked = el certificado de { $identity } fue revocado el { $at }: renovarlo rehabilitaría a un principal revocado; si es lo que pretende, emita certificados nuevos con `tipcerts issue`
certs-renew-relay-needs-tls = para renovar el relé { $identity } hace falta su certificado TLS, por los nombres DNS e IP: indique su tls.crt en --cert (o deje tls.crt junto a sign.crt)
certs-renew-done = { $identity } renovado: claves y certificados nuevos en { $dir }, válidos hasta el { $until }
certs-renew-install = instale { $new } como { $old }
certs-renew-overlap = los certificados anteriores NO se revocan: siguen siendo válidos hasta el { $until }, de modo que los recibos y los avisos firmados con las claves anteriores se siguen verificando; instale los archivos nuevos antes de esa fecha (revoque los anteriores con `tipcerts revoke` solo si una clave quedó comprometida)
certs-renew-old-expired = los certificados anteriores caducaron el { $until }: instale ya los archivos nuevos (los avisos firmados con la clave anterior antes de esa fecha se siguen verificando con sus recibos)
certs-renew-then-principal = tipctl usa los archivos nuevos desde su próxima orden; un `tipctl watch` en marcha los toma al reconectarse (reinícielo)
certs-renew-then-relay = después reinicie el relé con los archivos nuevos (`systemctl restart tiprelay`); los clientes no necesitan cambios: mismo nombre, misma CA

certs-passphrase-new = Nueva frase de paso para las claves:
certs-passphrase-again = La misma frase de paso otra vez:
certs-passphrase-differ = las dos frases de paso no coinciden; no se cifró nada
certs-passphrase-short = la frase de paso debe tener al menos 12 caracteres; no se cifró nada
certs-read-failed = no se puede leer { $path }
certs-write-failed = no se puede escribir { $path }
certs-not-a-key = { $path } no contiene ningún bloque PKCS#8 PRIVATE KEY
certs-encrypt-failed = no se puede cifrar { $path }: { $why }
certs-encrypted = cifrada { $file } (0600; desde ahora necesita su frase de paso)
certs-already-encrypted = { $file } ya estaba cifrada; se deja como está
certs-config-out-no-jurisdiction = { $identity } no pertenece a ninguna jurisdicción: --config-out es para analistas y alimentaciones
certs-config-out-own-trust = --trust { $jurisdiction }: la raíz de la propia jurisdicción del principal sale de su CA; dé --trust solo para las demás jurisdicciones
certs-config-out-missing = { $file } no existe o no es un archivo
certs-config-out-pair = { $flag } { $value }: se esperaban dos archivos separados por una coma, CA.crt,CRL.pem (para --trust: J=CA.crt,CRL.pem)
certs-config-written = configuración de tipctl escrita en { $file } (entréguela con el directorio del principal; las rutas son relativas a ella)

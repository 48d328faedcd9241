# tiprelay: mensajes en español, errors.
#
# Los errores de las bibliotecas conservan su texto inglés (registros y red); estos son los
# que ve una persona (common/src/localize.rs). $gender es «m» o «f», el género del tipo de
# mensaje ($kind).

## Identificadores (IdError)

err-id-jurisdiction = «{ $value }» no es un código de jurisdicción: use 2 o 3 letras mayúsculas, p. ej. MX o US
err-id-principal = «{ $uri }» no es una identidad de principal válida: { $why }
err-id-tip-id = «{ $value }» no es un id UUIDv7 (RFC 9562, versión 7)

## Reglas de los campos (FieldError)

err-field-wrong-type = el campo `{ $field }` debe ser { $expected }
err-field-missing = falta el campo obligatorio `{ $field }`
err-field-tlp-missing = el aviso no tiene etiqueta `tlp`; todo aviso debe llevar una etiqueta TLP 2.0 (clear, green, amber, amber+strict, red)
err-field-unknown = campo desconocido `{ $field }`: el contenido v1 lleva solo los campos de docs/PROTOCOL.md
err-field-duplicate = el campo `{ $field }` aparece más de una vez
err-field-non-text-key = las claves de un mapa deben ser cadenas de texto
err-field-unsupported-version = la versión de formato { $version } no es compatible (esta implementación usa la v1)
err-field-id = campo `{ $field }`: { $source }
err-field-same-jurisdiction = `from` y `to` son ambos { $jurisdiction }: un aviso va a la otra jurisdicción
err-field-not-in-set = campo `{ $field }`: «{ $value }» no es uno de estos valores: { $allowed }
err-field-summary-empty = `summary` está vacío
err-field-summary-too-long = `summary` tiene { $len } caracteres; se permiten como máximo 500
err-field-control-characters = el campo `{ $field }` contiene caracteres de control, de formato bidireccional o invisibles (solo `details` puede contener saltos de línea y tabuladores)
err-field-empty-list = el campo `{ $field }` es una lista vacía; omítalo
err-field-details-too-long = `details` tiene { $len } bytes; se permiten como máximo 16384
err-field-text-too-long = el campo `{ $field }` tiene { $len } caracteres; se permiten como máximo { $max }
err-field-invalid-lang = `lang` debe ser una etiqueta de idioma como es, en o es-MX
err-field-latitude-out-of-range = la latitud debe ser un número finito de -90 a 90
err-field-longitude-out-of-range = la longitud debe ser un número finito de -180 a 180
err-field-radius-out-of-range = `radius_m` debe estar entre 1 y 500000 metros
err-field-too-many-refs = `refs` tiene { $count } entradas; se permiten como máximo 32
err-field-bad-ref = `refs` debe nombrar otros avisos, distintos entre sí
err-field-valid-until-before-created = `valid_until` debe ser posterior a `created`
err-field-empty-period = el periodo debe terminar después de empezar
err-field-out-of-range = el campo `{ $field }` está fuera de rango
err-field-wrong-length = el campo `{ $field }` debe tener { $len } bytes
err-field-too-many = el campo `{ $field }` tiene demasiadas entradas
err-field-bad-time = el campo `{ $field }` no es una fecha y hora válida

## Verificación de mensajes (ProtoError)

err-proto-oversized = el mensaje tiene { $size } bytes; el límite es de { $max } bytes
err-proto-malformed-envelope = sobre mal formado: { $detail }
err-proto-malformed-cbor = CBOR del contenido mal formado: { $detail }
err-proto-unsupported-algorithm = algoritmo de firma no admitido: solo se acepta EdDSA (-8)
err-proto-wrong-kind = tipo de mensaje equivocado: se esperaba { $expected } y llegó «{ $found }»
err-proto-field = { $kind } no { $gender ->
        [f] válida
       *[m] válido
    }: { $source }
err-proto-kid-mismatch = el encabezado `kid` no corresponde al certificado de firma
err-proto-bad-certificate = certificado de firma rechazado: { $reason }
err-proto-wrong-authority = el certificado de { $identity } pertenece a { $found }; { $gender ->
        [f] esta
       *[m] este
    } { $kind } debe firmarse con un certificado de { $expected }
err-proto-unknown-authority = no hay ninguna CA raíz configurada para { $authority }
err-proto-untrusted-chain = el certificado de { $identity } no se encadena a la CA raíz de { $authority }: { $reason }
err-proto-certificate-not-valid-now = el certificado de { $identity } no es válido el { $at }: { $reason }
err-proto-revoked = el certificado de { $identity } ha sido revocado por su CA
err-proto-revoked-before = el certificado de { $identity } fue revocado por su CA el { $revoked }, antes de que el relé aceptara este mensaje ({ $accepted }) o en ese mismo momento; una firma solo cuenta si un recibo demuestra que es anterior a la revocación
err-proto-revocation-unknown = no hay ninguna lista de revocación cargada para { $authority }; cargue su CRL antes de verificar
err-proto-wrong-key-usage = el certificado de { $identity } no es un certificado de firma (le falta id-kp-documentSigning o digitalSignature); una clave TLS no puede firmar mensajes
err-proto-wrong-tls-usage = al certificado TLS de { $identity } le falta { $needs }; emita un certificado TLS con tipcerts
err-proto-crl-stale = la lista de revocación de { $authority } debía reemplazarse el { $next_update } y ya pasó el periodo de gracia de { $grace_hours } h; sus certificados se rechazan hasta que la CA de { $authority } publique una CRL nueva y esta se instale
err-proto-signer-mismatch = la firma es de { $signer }, pero { $gender ->
        [f] la
       *[m] el
    } { $kind } indica { $claimed } en `{ $field }`
err-proto-signer-role = { $signer } es { $role }; { $gender ->
        [f] una
       *[m] un
    } { $kind } debe estar { $gender ->
        [f] firmada
       *[m] firmado
    } por { $allowed }
err-proto-bad-signature = la verificación de la firma falló: el mensaje fue alterado o no lo firmó la clave de este certificado
err-proto-created-in-future = { $gender ->
        [f] la
       *[m] el
    } { $kind } { $gender ->
        [f] creada
       *[m] creado
    } el { $created } está más de 5 minutos en el futuro (hora del verificador: { $now }); revise el reloj del remitente
err-proto-expired = el aviso venció el { $valid_until } (hora del verificador: { $now })
err-proto-signing = no se puede firmar: { $detail }

# Tipos de mensaje, como los nombran los errores anteriores ($kind).
err-kind-tip = aviso
err-kind-receipt = recibo
err-kind-delivery-ack = confirmación de entrega
err-kind-feedback = respuesta
err-kind-ledger-statement = declaración del libro de reciprocidad
err-kind-checkpoint = punto de control
err-kind-cosignature = cofirma
err-kind-message = mensaje

# Tipos de principal ($role de err-proto-signer-role), con su artículo.
err-role-analyst = un analista
err-role-feed = una alimentación (feed)
err-role-relay = un relé

## Certificados, raíces y listas de revocación

err-cert-summary-not-x509 = no es un certificado X.509: { $detail }
err-cert-summary-trailing-bytes = hay bytes sobrantes después del certificado
err-trust-bad-root = certificado de CA raíz de { $authority } rechazado: { $reason }
err-trust-bad-crl = lista de revocación de { $authority } rechazada: { $reason }
err-trust-crl-wrong-issuer = la lista de revocación no está firmada por la CA raíz de { $authority }
err-trust-no-root = no hay ninguna CA raíz configurada para { $authority }; agréguela antes de su CRL
err-trust-crl-not-newer = la lista de revocación de { $authority } (número { $offered }) es más antigua que una ya aceptada (número { $loaded }); una CRL más antigua podría anular revocaciones: instale la CRL más reciente de esa autoridad

## Árboles y pruebas del registro de auditoría (MerkleError)

err-merkle-index-out-of-range = el índice de hoja { $index } está fuera de rango para un árbol de { $size } hojas: los índices van de 0 a tamaño - 1
err-merkle-bad-proof-length = la prueba tiene { $actual ->
        [one] { $actual } hash
       *[other] { $actual } hashes
    }, pero una prueba para estos tamaños de árbol tiene exactamente { $expected }: la prueba no corresponde a estos tamaños
err-merkle-root-mismatch = la prueba lleva a la raíz { $computed } para el tamaño de árbol { $tree_size }, pero la raíz esperada es { $expected }: la prueba, la hoja o la raíz es incorrecta, o el registro no es de solo anexado
err-merkle-invalid-sizes = no hay prueba de consistencia del tamaño de árbol { $old_size } al { $new_size }: requiere 0 < tamaño anterior <= tamaño nuevo (desde el árbol vacío no hay nada que probar; verifique el primer punto de control solo por su firma)
err-merkle-bad-compact-tree = un árbol compacto de tamaño { $size } contiene { $expected } hashes de nodo (uno por cada bit activo del tamaño), pero se dieron { $actual }: el estado guardado está dañado
err-merkle-tree-full = el árbol ya contiene { $max } hojas, el máximo que puede direccionar un índice de hoja de 64 bits
err-merkle-source = no se pudo leer el hash de una hoja: { $detail }

## Tramas (FrameError)

err-frame-truncated = trama truncada
err-frame-too-large = la trama de { $size } bytes supera el límite
err-frame-trailing = hay bytes sobrantes después de la trama
err-frame-cbor = el cuerpo de la trama no es CBOR: { $detail }
err-frame-field = { $source }
err-frame-unknown-op = operación desconocida `{ $op }`

## Periodos e intervalos (RangeError, UnknownPeriod)

err-range-not-a-period = «{ $value }» no es un periodo: use 2026, 2026-11, 2026-W48 o 2026-11-30
err-range-not-an-instant = «{ $value }» no es una fecha (2026-11-01) ni una hora RFC 3339 (2026-11-01T12:00:00Z)
err-range-until-not-after-since = --until debe ser posterior a --since
err-unknown-period = periodo desconocido «{ $value }» (se esperaba day, week o month)

## Exportaciones de hechos (FactsError)

err-facts-cbor = no es una exportación de `tipctl ledger export`: { $detail }
err-facts-not-a-map = no es una exportación de `tipctl ledger export`: no es un mapa
err-facts-unexpected-key = no es una exportación de `tipctl ledger export`: clave inesperada
err-facts-no-principal = no es una exportación de `tipctl ledger export`: falta el principal
err-facts-fact-not-a-map = hechos: un elemento no es un mapa
err-facts-fact = hechos: { $source }

## Archivos (FileError)

err-file-io = { $path }: { $source }
err-file-content = { $path }: { $why }
err-file-key-encrypted = { $path }: la clave privada está cifrada y no se dio su frase de paso: nombre un archivo que la contenga en TIPRELAY_KEY_PASSPHRASE_FILE (o dé la credencial de systemd key-passphrase), o ejecute desde una terminal para que se le pida
err-file-key-passphrase = { $path }: la frase de paso no abre esta clave privada
files-passphrase-prompt = Frase de paso de { $path }:
err-file-key-exposed = { $path }: una clave privada que el grupo u otros usuarios pueden leer o escribir (modo { $mode }); permita el acceso solo a su dueño: chmod 600 { $path }
err-file-key-not-owned = { $path }: una clave privada cuyo dueño es el uid { $owner }, pero este programa se ejecuta como uid { $user }; désela al usuario que la usa: chown { $user } { $path }

## Motivos fijos que llevan los errores anteriores ($why, $reason, $expected, $needs, $allowed)

err-why-operator-relay-only = la autoridad OPERATOR solo certifica el tipo `relay`
err-why-name-length = el nombre debe tener de 1 a 64 caracteres
err-why-name-chars = el nombre solo puede contener a-z, 0-9, '.', '_' y '-', y debe empezar por una letra o un dígito
err-why-uri-scheme = un URI de principal empieza por tiprelay://
err-why-uri-form = la forma es tiprelay://<JURISDICCIÓN>/<analyst|feed>/<nombre>
err-why-uri-authority = la autoridad debe ser un código de jurisdicción de 2 o 3 letras mayúsculas u OPERATOR
err-why-type-map = un mapa
err-why-type-uint = un entero sin signo
err-why-type-text = una cadena de texto
err-why-type-bytes = una cadena de bytes
err-why-type-float = un número de coma flotante
err-why-type-array = un arreglo
err-why-expired = ha vencido
err-why-not-yet-valid = todavía no es válido
err-why-needs-digital-signature = el uso de clave digitalSignature
err-why-needs-client-auth = el uso extendido de clave clientAuth
err-why-needs-server-auth = el uso extendido de clave serverAuth
err-why-roles-analyst-or-feed = un analista o una alimentación (feed)
err-why-roles-relay = un relé
err-why-roles-receiving-analyst = un analista de la jurisdicción receptora
err-why-roles-stating-analyst = un analista de la jurisdicción que declara o (federación) su relé
err-why-roles-log-owner = el principal dueño de ese registro de auditoría local
err-why-roles-any-principal = un analista, una alimentación (feed) o un relé de una jurisdicción
err-why-not-der-x509 = no es un certificado X.509 en DER
err-why-malformed-san = subjectAltName mal formado
err-why-no-san = no tiene subjectAltName: un certificado de principal lleva un URI tiprelay://
err-why-one-uri-san = un certificado de principal debe llevar exactamente un SAN de tipo URI
err-why-ca-as-principal = un certificado de CA no puede actuar como principal
err-why-key-not-ed25519 = la clave no es Ed25519
err-why-malformed-ed25519 = clave pública Ed25519 mal formada
err-why-malformed-key-usage = keyUsage mal formado
err-why-malformed-eku = extendedKeyUsage mal formado
err-why-bad-ed25519-point = la clave certificada no es un punto Ed25519 válido
err-why-intermediates = viene con certificados intermedios; tiprelay v1 solo admite certificados emitidos directamente por la raíz de la jurisdicción
err-why-not-issued-by-root = no lo emitió la CA raíz de { $authority }
err-why-trailing-cert = hay bytes sobrantes después del certificado
err-why-root-not-ca = no es un certificado de CA (basicConstraints cA no está activado)
err-why-root-key-not-ed25519 = su clave no es Ed25519
err-why-root-not-self-signed = no está autofirmado
err-why-root-same-subject = otra raíz de esta autoridad tiene el mismo nombre de sujeto; una raíz de relevo necesita un nombre propio
err-why-too-many-roots = la autoridad ya tiene el máximo de raíces permitidas a la vez (4)
err-why-trailing-crl = hay bytes sobrantes después de la CRL
err-why-not-der-crl = no es una CRL en DER: { $detail }
err-why-no-certificate-block = no hay ningún bloque CERTIFICATE
err-why-no-pkcs8-block = no hay ningún bloque PKCS#8 PRIVATE KEY
err-why-no-crl-block = no hay ningún bloque X509 CRL
err-why-bad-pem = PEM no válido: { $detail }
err-why-no-crl-of-root = no contiene ninguna lista de revocación de la CA raíz { $detail }

## Errores del sistema operativo

err-io-os = { $text } (error del sistema { $code })
err-io-not-found = no existe el archivo o directorio
err-io-permission-denied = permiso denegado
err-io-not-permitted = operación no permitida
err-io-exists = el archivo ya existe
err-io-is-a-directory = es un directorio
err-io-not-a-directory = no es un directorio
err-io-no-space = no queda espacio en el dispositivo
err-io-read-only = sistema de archivos de solo lectura
err-io-name-too-long = nombre de archivo demasiado largo
err-io-too-many-links = demasiados niveles de enlaces simbólicos
err-io-too-many-files = demasiados archivos abiertos
err-io-not-empty = el directorio no está vacío
err-io-busy = dispositivo o recurso ocupado
err-io-io = error de entrada/salida
err-io-cross-device = enlace entre dispositivos no válido
err-io-connection-refused = conexión rechazada
err-io-connection-reset = el otro extremo restableció la conexión
err-io-timed-out = se agotó el tiempo de espera de la conexión
err-io-address-in-use = la dirección ya está en uso
err-io-address-not-available = no se puede asignar la dirección solicitada
err-io-network-unreachable = la red no está accesible
err-io-host-unreachable = no hay ruta al host
err-io-broken-pipe = tubería rota

## Códigos de error de la red (docs/PROTOCOL.md §7): qué significa un rechazo del relé

err-code-reason = { $meaning } (relé: «{ $detail }»)
err-code-oversized = el mensaje supera los 64 KiB, o el cuerpo de una solicitud supera su límite
err-code-malformed-envelope = no es un sobre COSE_Sign1 etiquetado de este perfil
err-code-malformed-cbor = el contenido no es un único elemento CBOR bien formado
err-code-unsupported-algorithm = falta el algoritmo de firma o no es EdDSA
err-code-wrong-kind = falta el tipo de contenido o es de otro tipo de mensaje
err-code-invalid-field = un campo del contenido no cumple una regla
err-code-tlp-missing = el aviso no lleva etiqueta TLP
err-code-unsupported-version = versión de formato no compatible
err-code-same-jurisdiction = `from` es igual a `to`
err-code-kid-mismatch = el encabezado `kid` no corresponde al certificado
err-code-bad-certificate = el certificado no se puede leer o no cumple el perfil de certificados
err-code-wrong-authority = el certificado pertenece a otra autoridad que la que exige el mensaje
err-code-unknown-authority = no hay ninguna CA raíz configurada para la autoridad
err-code-untrusted-chain = el certificado no se encadena a la CA raíz de su autoridad
err-code-certificate-not-valid-now = el certificado ha vencido o todavía no es válido
err-code-revoked = el certificado ha sido revocado por su CA
err-code-revocation-unknown = se desconoce el estado de revocación: no hay una CRL vigente cargada para la autoridad
err-code-wrong-key-usage = el certificado no es para este uso (firma o TLS)
err-code-signer-mismatch = el firmante no es la identidad que declara el mensaje
err-code-signer-role = un principal de este tipo no puede firmar este tipo de mensaje
err-code-bad-signature = firma no válida
err-code-created-in-future = creado más de 5 minutos en el futuro; revise el reloj del remitente
err-code-expired = ya pasó el `valid_until` del aviso
err-code-conflict = ya se aceptó un mensaje con el mismo id y otro contenido
err-code-pair-not-allowed = el par `from` → `to` no está configurado en el relé
err-code-unknown-jurisdiction = una jurisdicción que el relé no atiende
err-code-identity-mismatch = el firmante no es la identidad TLS autenticada de la conexión
err-code-unknown-tip = el relé no tiene ese aviso, o su resumen, n.º o destinatario no coinciden
err-code-not-permitted = este principal no puede hacer esta solicitud
err-code-bad-request = la solicitud no es una trama bien formada de este protocolo
err-code-unknown-checkpoint = una cofirma de un tamaño del que el relé no firmó ningún punto de control
err-code-proof-out-of-range = una prueba para un índice o tamaños que el registro (aún) no tiene
err-code-checkpoint-mismatch = el punto de control cofirmado difiere del que firmó el relé: el cofirmante vio otra historia
err-code-storage-full = el almacén del relé está lleno: se rechazan avisos nuevos, las lecturas siguen funcionando
err-code-unavailable = el relé no puede atender la solicitud en este momento; reintente más tarde
err-code-rate-limited = demasiadas solicitudes o avisos; reintente tras el tiempo que indica el relé
err-code-quota-exceeded = demasiados bytes de avisos aún sin confirmación de la jurisdicción destinataria; reintente cuando se confirmen
err-code-sequence-gap = el n.º de origen de un aviso reenviado no es el siguiente esperado: un hueco entre los relés de ambos lados de la frontera
err-code-signing = fallo de firma local

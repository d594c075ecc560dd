//go:build !purego

#include "textflag.h"

// CHECKUTF8 judges the 32 bytes in in, Y2 holding the 16 bytes before them
// and their first 16 (VPERM2I128 $0x21 of in and the bytes before), and
// adds what is wrong to Y15.
#define CHECKUTF8(in) \
	VPALIGNR  $15, Y2, in, Y3; \
	VPALIGNR  $14, Y2, in, Y4; \
	VPALIGNR  $13, Y2, in, Y5; \
	VPSRLW    $4, Y3, Y6; \
	VPAND     nibble<>(SB), Y6, Y6; \
	VMOVDQU   utf8Byte1High<>(SB), Y7; \
	VPSHUFB   Y6, Y7, Y6; \
	VPAND     nibble<>(SB), Y3, Y3; \
	VMOVDQU   utf8Byte1Low<>(SB), Y7; \
	VPSHUFB   Y3, Y7, Y3; \
	VPAND     Y3, Y6, Y6; \
	VPSRLW    $4, in, Y3; \
	VPAND     nibble<>(SB), Y3, Y3; \
	VMOVDQU   utf8Byte2High<>(SB), Y7; \
	VPSHUFB   Y3, Y7, Y3; \
	VPAND     Y3, Y6, Y6; \
	VPSUBUSB  c60<>(SB), Y4, Y4; \
	VPSUBUSB  c70<>(SB), Y5, Y5; \
	VPOR      Y4, Y5, Y4; \
	VPAND     c80<>(SB), Y4, Y4; \
	VPXOR     Y4, Y6, Y6; \
	VPOR      Y6, Y15, Y15

// NIBBLECLASS sets bit i of the 32-bit mask r when byte i of a half chunk,
// given by its low nibbles lo and high nibbles hi, is not in the class
// that the tables low and high describe (a byte is in it when the entries
// of its two nibbles share a bit). It uses Y6 and Y7.
#define NIBBLECLASS(low, high, lo, hi, r) \
	VMOVDQU   low<>(SB), Y6; \
	VPSHUFB   lo, Y6, Y6; \
	VMOVDQU   high<>(SB), Y7; \
	VPSHUFB   hi, Y7, Y7; \
	VPAND     Y6, Y7, Y7; \
	VPXOR     Y6, Y6, Y6; \
	VPCMPEQB  Y6, Y7, Y7; \
	VPMOVMSKB Y7, r

// BROADCAST32 defines a 32-byte constant of one byte repeated.
#define BROADCAST32(name, b) \
	DATA name<>+0(SB)/8, $(b*0x0101010101010101); \
	DATA name<>+8(SB)/8, $(b*0x0101010101010101); \
	DATA name<>+16(SB)/8, $(b*0x0101010101010101); \
	DATA name<>+24(SB)/8, $(b*0x0101010101010101); \
	GLOBL name<>(SB), RODATA|NOPTR, $32

// TABLE32 defines a 16-byte lookup table (lo: bytes 0-7, hi: bytes 8-15,
// little endian) in both lanes of a 32-byte constant.
#define TABLE32(name, lo, hi) \
	DATA name<>+0(SB)/8, lo; \
	DATA name<>+8(SB)/8, hi; \
	DATA name<>+16(SB)/8, lo; \
	DATA name<>+24(SB)/8, hi; \
	GLOBL name<>(SB), RODATA|NOPTR, $32

// Stage 1 of the structural counter: classify 64 bytes at a time, with
// AVX2, into one bitmask per chunk of the positions stage 2 must look at
// (see stage1_amd64.go for what they are and what is checked here).
//
// Registers:
//   SI  the chunk being read      DI  its mask in out    CX  chunks left
//   R13 errors found with the bitmasks
//   R8, R12, R14: what one chunk leaves the next (stage1State's inString,
//   escaped and scalar; uEscapes is in the frame at u-8(SP))
//   Y8  0x1F in every byte        Y9  0x20 in every byte
//   Y10 the punctuation table     Y11 the whitespace table
//   Y12 '\\' in every byte        Y13 '"' in every byte
//   Y14 the 32 bytes before the chunk (for UTF-8)
//   Y15 UTF-8 errors found
//   Y0, Y1 the chunk; Y2-Y7, AX, BX, DX, R9-R11 scratch.

// func stage1(p *byte, chunks int, st *stage1State, out *uint64) (bad bool)
TEXT ·stage1(SB), NOSPLIT, $8-33
	MOVQ p+0(FP), SI
	MOVQ chunks+8(FP), CX
	MOVQ out+24(FP), DI
	XORQ R13, R13
	MOVQ st+16(FP), AX
	MOVQ 0(AX), R8
	MOVQ 8(AX), R12
	MOVQ 16(AX), R14
	MOVQ 24(AX), BX
	MOVQ BX, u-8(SP)
	VMOVDQU 32(AX), Y14

	VMOVDQU c1f<>(SB), Y8
	VMOVDQU c20<>(SB), Y9
	VMOVDQU punctTable<>(SB), Y10
	VMOVDQU spaceTable<>(SB), Y11
	VMOVDQU cbackslash<>(SB), Y12
	VMOVDQU cquote<>(SB), Y13
	VPXOR   Y15, Y15, Y15

	TESTQ CX, CX
	JZ    done

loop:
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1

	// AX: quotes. DX: backslashes.
	VPCMPEQB  Y0, Y13, Y2
	VPMOVMSKB Y2, AX
	VPCMPEQB  Y1, Y13, Y3
	VPMOVMSKB Y3, BX
	SHLQ      $32, BX
	ORQ       BX, AX
	VPCMPEQB  Y0, Y12, Y2
	VPMOVMSKB Y2, DX
	VPCMPEQB  Y1, Y12, Y3
	VPMOVMSKB Y3, BX
	SHLQ      $32, BX
	ORQ       BX, DX

	// DX becomes the escaped positions: the byte after each run of
	// backslashes of odd length (counted from where the run may escape).
	MOVQ R12, R9 // 1: the chunk's first byte is escaped
	MOVQ DX, BX
	ORQ  R9, BX
	JZ   escaped

	ANDNQ DX, R9, DX   // P: backslashes that may escape
	MOVQ  DX, BX
	SHLQ  $1, BX
	ANDNQ DX, BX, BX   // the first backslash of each run
	MOVQ  $0x5555555555555555, R10
	MOVQ  BX, R11
	ANDQ  R10, R11     // runs starting at even positions
	ANDNQ BX, R10, BX  // runs starting at odd positions
	ADDQ  DX, R11      // carry each even run past its end
	ADDQ  DX, BX       // carry each odd run past its end
	SETCS R12B         // an odd run reached past the chunk
	MOVBQZX R12B, R12
	ANDNQ R11, DX, R11 // where even runs end
	ANDNQ BX, DX, BX   // where odd runs end
	ANDNQ R11, R10, R11 // even run, odd end: odd length
	ANDQ  R10, BX       // odd run, even end: odd length
	ORQ   R11, BX
	ORQ   R9, BX
	MOVQ  BX, DX

escaped:
	// AX becomes the quotes that open or close strings; R9 the bytes in
	// strings (an opening quote is in its string, a closing one is not).
	ANDNQ      AX, DX, AX
	VMOVQ      AX, X2
	VPCLMULQDQ $0x00, allOnes<>(SB), X2, X2
	VMOVQ      X2, R9
	XORQ       R8, R9
	MOVQ       R9, R8
	SARQ       $63, R8

	// Control bytes may not be in strings.
	VPMAXUB   Y0, Y8, Y2
	VPCMPEQB  Y2, Y8, Y2
	VPMOVMSKB Y2, R10
	VPMAXUB   Y1, Y8, Y3
	VPCMPEQB  Y3, Y8, Y3
	VPMOVMSKB Y3, BX
	SHLQ      $32, BX
	ORQ       BX, R10
	ANDQ      R9, R10
	ORQ       R10, R13

	// BX: whitespace. R10: punctuation ({}[]:, and two control bytes that
	// stage 2 refuses).
	VPSHUFB   Y0, Y11, Y2
	VPCMPEQB  Y2, Y0, Y2
	VPMOVMSKB Y2, BX
	VPSHUFB   Y1, Y11, Y3
	VPCMPEQB  Y3, Y1, Y3
	VPMOVMSKB Y3, R10
	SHLQ      $32, R10
	ORQ       R10, BX
	VPOR      Y0, Y9, Y2
	VPSHUFB   Y2, Y10, Y3
	VPCMPEQB  Y3, Y2, Y3
	VPMOVMSKB Y3, R10
	VPOR      Y1, Y9, Y2
	VPSHUFB   Y2, Y10, Y3
	VPCMPEQB  Y3, Y2, Y3
	VPMOVMSKB Y3, R11
	SHLQ      $32, R11
	ORQ       R11, R10

	// R11: bytes of scalars (numbers and words) outside strings; BX the
	// first byte of each.
	MOVQ  R10, R11
	ORQ   BX, R11
	ORQ   AX, R11
	ORQ   R9, R11
	NOTQ  R11
	MOVQ  R11, BX
	SHLQ  $1, BX
	ORQ   R14, BX
	ANDNQ R11, BX, BX
	SHRQ  $63, R11
	MOVQ  R11, R14

	// The chunk's mask: punctuation outside strings, quotes, scalar starts.
	ANDNQ R10, R9, R10
	ORQ   AX, R10
	ORQ   BX, R10
	MOVQ  R10, (DI)

	// Escapes: what follows a backslash must be one of "\/bfnrtu, and \u
	// four hex digits (which may reach into the next chunk). Nothing to do
	// without an escape here or a \u near the end of the last chunk.
	MOVQ u-8(SP), BX
	SHRQ $60, BX
	ORQ  DX, BX
	JZ   utf8

	// Y2, Y3: the high and low nibbles of the first half; Y4, Y5 those of
	// the second. R10: bytes that may not be escaped; R11: 'u'.
	VPXOR     Y6, Y6, Y6
	VPSRLW    $4, Y0, Y2
	VPAND     nibble<>(SB), Y2, Y2
	VPAND     nibble<>(SB), Y0, Y3
	VPSRLW    $4, Y1, Y4
	VPAND     nibble<>(SB), Y4, Y4
	VPAND     nibble<>(SB), Y1, Y5
	NIBBLECLASS(escLow, escHigh, Y3, Y2, R10)
	NIBBLECLASS(escLow, escHigh, Y5, Y4, R9)
	SHLQ      $32, R9
	ORQ       R9, R10
	VPCMPEQB  cu<>(SB), Y0, Y7
	VPMOVMSKB Y7, R11
	VPCMPEQB  cu<>(SB), Y1, Y7
	VPMOVMSKB Y7, R9
	SHLQ      $32, R9
	ORQ       R9, R11
	ANDQ      DX, R10
	ORQ       R10, R13
	ANDQ      DX, R11

	// R9: the four bytes after each \u, with those of the last chunk's.
	MOVQ R11, R10
	SHLQ $1, R10
	MOVQ R10, R9
	SHLQ $1, R10
	ORQ  R10, R9
	SHLQ $1, R10
	ORQ  R10, R9
	SHLQ $1, R10
	ORQ  R10, R9
	MOVQ u-8(SP), R10
	SHRQ $60, R10
	MOVQ R10, AX
	SHRQ $1, AX
	ORQ  AX, R10
	SHRQ $1, AX
	ORQ  AX, R10
	SHRQ $1, AX
	ORQ  AX, R10
	ORQ  R10, R9
	MOVQ R11, u-8(SP)
	JZ   utf8 // no \u: no hex digits to check

	// BX: bytes that are not hex digits.
	NIBBLECLASS(hexLow, hexHigh, Y3, Y2, BX)
	NIBBLECLASS(hexLow, hexHigh, Y5, Y4, AX)
	SHLQ $32, AX
	ORQ  AX, BX
	ANDQ BX, R9
	ORQ  R9, R13

utf8:
	// UTF-8, by the lookup method of Keiser and Lemire: each byte is judged
	// with the one, two and three before it.
	VPOR      Y0, Y1, Y2
	VPMOVMSKB Y2, AX
	TESTL     AX, AX
	JNZ       multibyte

	// All ASCII: only a sequence left open by the last chunk is wrong.
	VPSUBUSB incomplete<>(SB), Y14, Y2
	VPOR     Y2, Y15, Y15
	VMOVDQU  Y1, Y14
	JMP      next

multibyte:
	VPERM2I128 $0x21, Y0, Y14, Y2
	CHECKUTF8(Y0)
	VPERM2I128 $0x21, Y1, Y0, Y2
	CHECKUTF8(Y1)
	VMOVDQU    Y1, Y14

next:
	ADDQ $64, SI
	ADDQ $8, DI
	DECQ CX
	JNZ  loop

done:
	MOVQ    st+16(FP), AX
	MOVQ    R8, 0(AX)
	MOVQ    R12, 8(AX)
	MOVQ    R14, 16(AX)
	MOVQ    u-8(SP), BX
	MOVQ    BX, 24(AX)
	VMOVDQU Y14, 32(AX)
	VPTEST  Y15, Y15
	SETNE   AL
	TESTQ   R13, R13
	SETNE   BL
	ORB     BL, AL
	MOVB    AL, bad+32(FP)
	VZEROUPPER
	RET

BROADCAST32(c1f, 0x1F)
BROADCAST32(c20, 0x20)
BROADCAST32(cquote, 0x22)
BROADCAST32(cbackslash, 0x5C)
BROADCAST32(cu, 0x75)
BROADCAST32(nibble, 0x0F)
BROADCAST32(c60, 0x60)
BROADCAST32(c70, 0x70)
DATA c80<>+0(SB)/8, $0x8080808080808080
DATA c80<>+8(SB)/8, $0x8080808080808080
DATA c80<>+16(SB)/8, $0x8080808080808080
DATA c80<>+24(SB)/8, $0x8080808080808080
GLOBL c80<>(SB), RODATA|NOPTR, $32

// spaceTable[i] is the whitespace byte whose low nibble is i, or 0:
// ' ' at 0, '\t' at 9, '\n' at 10, '\r' at 13.
TABLE32(spaceTable, $0x0000000000000020, $0x00000D00000A0900)

// punctTable[i] is the byte of {}[]:, (with 0x20 set) whose low nibble is i:
// ':' at 10, '{' at 11, ',' at 12, '}' at 13.
TABLE32(punctTable, $0x0000000000000000, $0x00007D2C7B3A0000)

// escHigh and escLow classify by high and low nibble the bytes that may
// follow a backslash ("\/bfnrtu): a byte is one when the two share a bit.
TABLE32(escHigh, $0x0804020000010000, $0x0000000000000000)
TABLE32(escLow, $0x00040808000D0000, $0x0104000200000000)

// hexHigh and hexLow do the same for hex digits.
TABLE32(hexHigh, $0x0002000201000000, $0x0000000000000000)
TABLE32(hexLow, $0x0103030303030301, $0x0000000000000101)

// The three tables of the UTF-8 check, bits: 0x01 too short, 0x02 too
// long, 0x04 overlong 3-byte, 0x08 too large, 0x10 surrogate, 0x20
// overlong 2-byte, 0x40 overlong 4-byte or too large, 0x80 two
// continuations.
TABLE32(utf8Byte1High, $0x0202020202020202, $0x4915012180808080)
TABLE32(utf8Byte1Low, $0xCBCBCB8B8383A3E7, $0xCBCBDBCBCBCBCBCB)
TABLE32(utf8Byte2High, $0x0101010101010101, $0x01010101BABAAEE6)

// incomplete is subtracted from the last 32 bytes to find a sequence they
// leave open: a 2-byte lead in the last byte, a 3-byte one in the last two,
// a 4-byte one in the last three.
DATA incomplete<>+0(SB)/8, $0xFFFFFFFFFFFFFFFF
DATA incomplete<>+8(SB)/8, $0xFFFFFFFFFFFFFFFF
DATA incomplete<>+16(SB)/8, $0xFFFFFFFFFFFFFFFF
DATA incomplete<>+24(SB)/8, $0xBFDFEFFFFFFFFFFF
GLOBL incomplete<>(SB), RODATA|NOPTR, $32

DATA allOnes<>+0(SB)/8, $0xFFFFFFFFFFFFFFFF
DATA allOnes<>+8(SB)/8, $0xFFFFFFFFFFFFFFFF
GLOBL allOnes<>(SB), RODATA|NOPTR, $16
